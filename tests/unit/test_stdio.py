"""Reading stdin on the event loop: which inputs qualify, and the reader's edges."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from ghostwright.lsp.stdio import DROPPED_LINE, STREAM_LIMIT, PipeReader, watchable


@pytest.fixture
def pipe() -> Iterator[tuple[BinaryIO, BinaryIO]]:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb", buffering=0) as reading, os.fdopen(write_fd, "wb") as writing:
        yield reading, writing


def test_a_pipe_is_watched_and_files_and_memory_are_not(
    pipe: tuple[BinaryIO, BinaryIO], tmp_path: Path
) -> None:
    assert watchable(pipe[0]) == (os.name == "posix")
    path = tmp_path / "messages"
    path.write_bytes(b"")
    with path.open("rb") as file:
        assert not watchable(file)
    assert not watchable(io.BytesIO(b""))


def test_the_reader_keeps_going_past_an_overlong_line_and_returns_what_came_before_the_end(
    pipe: tuple[BinaryIO, BinaryIO],
) -> None:
    reading, writing = pipe
    overlong = b"x" * (STREAM_LIMIT + 10) + b"\r\n"

    async def read_all() -> tuple[list[bytes], bytes, bytes, bytes, bytes]:
        reader = await PipeReader.connect(reading)
        before = [await reader.readline()]
        while before[-1] != b"Content-Length: 2\r\n":
            before.append(await reader.readline())
        return (
            before[:-1],
            await reader.readline(),
            await reader.readexactly(2),
            await reader.readexactly(8),  # the input ends after 3 of them
            await reader.readline(),
        )

    async def scenario() -> tuple[list[bytes], bytes, bytes, bytes, bytes]:
        task = asyncio.ensure_future(read_all())
        # Written from a thread: the pipe holds less than the overlong line.
        await asyncio.to_thread(writing.write, overlong + b"Content-Length: 2\r\n\r\n{}cut")
        await asyncio.to_thread(writing.close)
        return await asyncio.wait_for(task, 30)

    dropped, blank, body, partial, end = asyncio.run(scenario())
    # The overlong line is a dropped header, or a dropped start and the rest of the line
    # (depending on how much had arrived), never an error that ends the message loop.
    assert dropped[0] == DROPPED_LINE
    assert all(line.rstrip(b"\r\n").strip(b"x") == b"" for line in dropped[1:])
    assert len(dropped) <= 2
    assert (blank, body, partial, end) == (b"\r\n", b"{}", b"cut", b"")
