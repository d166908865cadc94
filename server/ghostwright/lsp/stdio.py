"""Reading the editor's messages from stdin on the event loop itself.

pygls 2 reads stdin in its thread pool: every header line and every body is a blocking read
handed to a worker thread and back, three round trips between threads per message, and the
editor sends one message per keystroke. Where stdin is a pipe or a socket (an editor's
connection always is, on POSIX systems), the event loop can watch it directly: an asyncio
stream, no threads, the same message loop (`pygls.io_.run_async`). That takes about 0.9 ms off
every request on a 2-core machine (README, "Protocol"). Anything else (a terminal, a
redirected file, Windows) keeps pygls's own reader.
"""

from __future__ import annotations

import asyncio
import os
import stat
from typing import BinaryIO

STREAM_LIMIT = 1 << 20
"""Bytes a header line may hold before it is dropped (headers are a few dozen bytes)."""

DROPPED_LINE = b"X-Ghostwright-Dropped: an overlong header line\r\n"
"""What the message loop reads in place of a header line over `STREAM_LIMIT`: a header it
ignores, so that garbage costs one error, never the connection."""


def watchable(stdin: BinaryIO) -> bool:
    """Whether the event loop can watch `stdin` directly: a pipe or socket on POSIX."""
    if os.name != "posix":
        return False
    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class PipeReader:
    """pygls's reader interface (`readline`, `readexactly`) over an asyncio stream, with the
    blocking reader's behaviour at the edges: an overlong line is dropped (not an error that
    ends the message loop), and the end of input mid-body returns what came."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    @classmethod
    async def connect(cls, stdin: BinaryIO) -> PipeReader:
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=STREAM_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)
        return cls(stream)

    async def readline(self) -> bytes:
        try:
            return await self._stream.readline()
        except ValueError:  # over the limit: asyncio has discarded the line (or its start)
            return DROPPED_LINE

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            return exc.partial
